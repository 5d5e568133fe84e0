/**
 * A command that reads a dataset through two data workers as a training run does, for the test
 * that warnings from workers reach stderr once and `--strict-labels` stops the command:
 * `deno run --allow-read=. tests/readers/loader_script.ts DATASET ROOT [--strict-labels]`.
 */
import { takeStrictLabelsFlag } from "../../runtime/data/label_policy.ts";
import { SampleLoader } from "../../runtime/data/prefetch/loader.ts";

const [dataset, root] = takeStrictLabelsFlag(Deno.args);
const loader = await SampleLoader.open({
  source: {
    module: new URL("../../runtime/data/open.ts", import.meta.url).href,
    exportName: "openDataset",
    options: { dataset, root, split: "train", domain: "", count: 0, seed: 0, field: "data.source" },
  },
  pipeline: {
    resize: { kind: "none" },
    crop: { width: 4, height: 3 },
    catMaxRatio: 1,
    flip: 0,
  },
  seed: 1,
  workers: 2,
});
try {
  // Six samples of a one-image dataset: each worker reads the same label file three times.
  await Promise.all([0, 1, 2, 3, 4, 5].map((i) => loader.get(i)));
  console.log("read 6 samples");
} catch (error) {
  console.error(`error: ${(error as Error).message}`);
  Deno.exitCode = 1;
} finally {
  loader.close();
}
