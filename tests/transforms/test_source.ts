/** A synthetic source for the loader tests: deterministic images with striped labels. */
import type { Source } from "../../runtime/data/prefetch/protocol.ts";
import { RandomStream } from "../../runtime/random.ts";

/** Options: image size, count, and an index that fails (to test error reporting). */
export interface TestSourceOptions {
  width: number;
  height: number;
  count: number;
  failAt?: number;
}

/** Builds the source (the export the workers load by name). */
export function createSource(options: TestSourceOptions): Source {
  return {
    size: options.count,
    get(index: number) {
      if (index === options.failAt) {
        return Promise.reject(new Error(`cannot decode test-${index}.png`));
      }
      const rng = new RandomStream(index);
      const { width, height } = options;
      const image = new Uint8Array(width * height * 3);
      for (let i = 0; i < image.length; i++) image[i] = rng.int(256);
      const label = new Uint8Array(width * height);
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) label[y * width + x] = (x >> 5) % 19;
      }
      return Promise.resolve({ image, label, width, height, channels: 3, name: `test-${index}` });
    },
  };
}
