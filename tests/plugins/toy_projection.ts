/**
 * A toy block defined entirely outside UDA-Lab's own files, to prove the plug-in design: a loss
 * term that reads the student's decoder embedding on the source view through its own small
 * trainable projection head, in its own optimiser group. Nothing in `dsl/` or `runtime/` knows
 * it; importing this file defines its DSL block and registers its runtime module.
 *
 * The loss is the mean squared norm of the projected embedding: simple, but it sends gradients
 * into both the head and the student, which is what the test needs to see.
 *
 * @module
 */
import { type Block, defineBlock } from "../../dsl/block.ts";
import { num } from "../../dsl/schema.ts";
import { int } from "../../dsl/schema.ts";
import { tf } from "../../runtime/tf.ts";
import { RandomStream } from "../../runtime/random.ts";
import { ParamStore } from "../../runtime/nn/params.ts";
import { addConv } from "../../runtime/nn/init.ts";
import { conv2d } from "../../runtime/nn/layers.ts";
import { registerBlockModule } from "../../runtime/blocks/registry.ts";
import { countParams, type SegmentorNetwork } from "../../runtime/blocks/model.ts";
import { passId } from "../../runtime/blocks/types.ts";

/** Parameters of {@linkcode toyProjection}. */
export interface ToyProjectionParams {
  /** Weight in the total loss. */
  weight: number;
  /** Output channels of the projection. */
  channels: number;
}

/** A {@linkcode toyProjection} block. */
export type ToyProjectionBlock = Block<"toyProjection", ToyProjectionParams>;

declare module "../../dsl/families.ts" {
  interface LossBlocks {
    /** The test's toy term. */
    toyProjection: ToyProjectionBlock;
  }
}

/** The toy term: ‖P·e‖² averaged over the student's source embedding e. */
export const toyProjection = defineBlock<"toyProjection", ToyProjectionParams>({
  kind: "toyProjection",
  family: "loss",
  summary: "test-only projection of the decoder embedding",
  schema: { weight: num(0.1, { min: 0 }), channels: int(8, 1) },
  views: () => ["source"],
});

/** The name prefix of the head's parameters, and its optimiser group's key. */
export const TOY_KEY = "toy_projection";

registerBlockModule<ToyProjectionBlock>({
  kind: "toyProjection",
  lower(block, builder, place) {
    builder.addNetwork({
      name: "toyProjection",
      trainable: true,
      checkpointed: true,
      exported: true,
      paramGroups: [{ key: TOY_KEY, lrMult: 10, decayMult: 0 }],
      describe: (params) =>
        `1×1 projection of the decoder embedding, ${countParams(params)} parameters`,
      build(context) {
        const student = context.networks.get("student") as SegmentorNetwork;
        const params = new ParamStore();
        addConv(
          params,
          new RandomStream(context.seed).fork(`init:${TOY_KEY}`),
          `decode_head.${TOY_KEY}`,
          1,
          student.model.head.channels,
          block.channels,
          { bias: true, std: 0.1 },
        );
        return Promise.resolve({ params });
      },
    });
    const pass = { network: "student", view: "source", training: true };
    builder.addTerm({
      name: place.term!,
      block,
      weight: block.weight,
      passes: [pass],
      views: [],
      reads: [`${passId(pass)}.embedding`],
      compute(context) {
        const head = context.network("toyProjection").params;
        const projected = conv2d(head, `decode_head.${TOY_KEY}`, context.pass(pass).embedding!);
        return tf.mean(tf.square(projected)) as tf.Scalar;
      },
    });
    builder.addKernels({ differentiated: ["Conv2D", "Square", "Mean", "Add"], backward: [] });
  },
});
