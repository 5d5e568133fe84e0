/**
 * Building a program's networks, in the order the modules declared them (the student first,
 * so a teacher or a frozen encoder can copy its architecture), and the views of them the
 * checkpoint and the weight export iterate over.
 *
 * @module
 */
import type { Program } from "../compile/program.ts";
import type { Network } from "../blocks/types.ts";
import type { ParamStore } from "../nn/params.ts";
import { exportTorchWeights } from "../io/torch_weights.ts";
import type { StoredTensor } from "../io/safetensors.ts";

/** Builds every network of the program; on failure disposes what was built. */
export async function buildNetworks(
  program: Program,
  resolve: (reference: string) => Promise<string> = (r) => Promise.resolve(r),
  loadWeights = true,
): Promise<Map<string, Network>> {
  const networks = new Map<string, Network>();
  try {
    for (const plan of program.networks) {
      networks.set(
        plan.name,
        await plan.build({ seed: program.seed, resolve, loadWeights, networks }),
      );
    }
    return networks;
  } catch (error) {
    disposeNetworks(networks);
    throw error;
  }
}

/** Disposes every network's parameters. */
export function disposeNetworks(networks: ReadonlyMap<string, Network>): void {
  for (const network of networks.values()) network.params.dispose();
}

/** The parameter stores a checkpoint holds, by prefix (`student`, `teacher`, …). */
export function checkpointedStores(
  program: Program,
  networks: ReadonlyMap<string, Network>,
): Record<string, ParamStore> {
  return Object.fromEntries(
    program.networks.filter((n) => n.checkpointed).map((
      n,
    ) => [n.name, networks.get(n.name)!.params]),
  );
}

/** The exported weights (PyTorch layout): every exported network's tensors. */
export async function exportedWeights(
  program: Program,
  networks: ReadonlyMap<string, Network>,
): Promise<[string, StoredTensor][]> {
  const out: [string, StoredTensor][] = [];
  for (const plan of program.networks.filter((n) => n.exported)) {
    out.push(...await exportTorchWeights(networks.get(plan.name)!.params));
  }
  return out;
}
