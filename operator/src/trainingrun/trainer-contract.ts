// What the operator and the trainer image agree on (docs/contracts.md): the container's name, the
// rendezvous port, and the exit code that means "bad input, do not retry". render.ts writes them
// into the Job; observe.ts reads the trainer's termination message by the container's name.
export const TRAINER_CONTAINER = 'trainer';
export const MASTER_PORT = 29500;
/** Exit code of the trainer for bad input (docs/contracts.md): retrying cannot help. */
export const TRAINER_BAD_INPUT_EXIT_CODE = 2;

/**
 * The environment the operator sets on every training container (docs/contracts.md, "Trainer
 * environment"; lathe_trainer/config.py reads them). render.ts sets these, tests read them by these.
 */
export const TRAINER_ENV = {
  runId: 'LATHE_RUN_ID',
  runName: 'LATHE_RUN_NAME',
  namespace: 'LATHE_NAMESPACE',
  attempt: 'LATHE_ATTEMPT',
  task: 'LATHE_TASK',
  modelUri: 'LATHE_MODEL_URI',
  modelName: 'LATHE_MODEL_NAME',
  datasetUri: 'LATHE_DATASET_URI',
  outputUri: 'LATHE_OUTPUT_URI',
  hyperparameters: 'LATHE_HYPERPARAMETERS',
  hfHome: 'HF_HOME',
} as const;

/** torchrun's rendezvous (Kubeflow's PET_* names), set only on a distributed run (workers > 1). */
export const TORCHRUN_ENV = {
  nnodes: 'PET_NNODES',
  nprocPerNode: 'PET_NPROC_PER_NODE',
  nodeRank: 'PET_NODE_RANK',
  masterAddr: 'PET_MASTER_ADDR',
  masterPort: 'PET_MASTER_PORT',
} as const;
