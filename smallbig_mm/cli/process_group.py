"""Leaving torch.distributed's default process group at the end of a tool (torch only)."""


def leave_process_group() -> None:
    """Destroys the default process group, if any, after a run that succeeded: every rank
    first waits for the others, then all leave together.

    MMEngine leaves the group to the interpreter's exit. There, with torch 2.14 and gloo on
    2 CPU cores, a rank that was still tearing down while its peer had exited was seen to
    abort now and then ("terminate called without an active exception", SIGABRT), which
    torchrun reports as a failed node.
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
