// What the operator and the trainer image agree on (docs/contracts.md): the container's name, the
// rendezvous port, and the exit code that means "bad input, do not retry". render.ts writes them
// into the Job; observe.ts reads the trainer's termination message by the container's name.
export const TRAINER_CONTAINER = 'trainer';
export const MASTER_PORT = 29500;
/** Exit code of the trainer for bad input (docs/contracts.md): retrying cannot help. */
export const TRAINER_BAD_INPUT_EXIT_CODE = 2;
