"""How a peer's failure reads: a collective that failed behind a checkpoint error still names the peer.

(Two processes training Parti on per-process data shards and ending with the same losses and parameters
as one process is tests/test_multihost.py::test_two_processes_match_one_and_write_once, through the real
`vim train-parti` command.)"""


def test_peer_failure_sees_a_failed_collective_behind_a_checkpoint_error(monkeypatch):
    """A peer killed while a checkpoint gathers across processes surfaces as a CheckpointWriteError raised
    from JAX's error; the survivor must still say a peer failed (and take the no-barrier exit)."""
    import jax

    from vim.distributed import peer_failure
    from vim.training.loop import CheckpointWriteError

    gloo = jax.errors.JaxRuntimeError("UNKNOWN: Gloo AllGather failed: Connection reset by peer")
    wrapped = CheckpointWriteError("could not write the checkpoint of step 4")
    wrapped.__cause__ = gloo
    assert peer_failure(wrapped) is None  # one process: nothing to blame
    monkeypatch.setattr(jax, "process_count", lambda: 2)
    assert "a collective with the other processes failed" in peer_failure(wrapped)
    assert "Gloo AllGather failed" in peer_failure(gloo)
    assert peer_failure(CheckpointWriteError("disk full")) is None
