"""Two "nodes" on one machine: two torchrun invocations with --nnodes 2 on localhost (gloo,
CPU), started through tools/dist_train.sh's NNODES, NODE_RANK, MASTER_ADDR and PORT, log
the first-epoch losses of a 2-process single-node run with the same seed."""

import os
import subprocess

from helpers import REPO, TINY_CONFIG, data_options, free_port, logged, run_tool

DIST_TRAIN = str(REPO / 'tools' / 'dist_train.sh')


def test_two_nodes_on_localhost_match_one_node_with_two_processes(motion_data, tmp_path):
    options = [
        '--cfg-options',
        'train_cfg.max_epochs=1',
        'train_cfg.val_interval=10',
        'randomness.seed=0',
        *data_options(motion_data),
    ]
    one_node = tmp_path / 'one_node'
    run_tool(
        ['bash', DIST_TRAIN, str(TINY_CONFIG), '2', '--work-dir', str(one_node), *options],
        cwd=tmp_path,
        PORT=str(free_port()),
    )
    two_nodes = tmp_path / 'two_nodes'
    env = dict(NNODES='2', MASTER_ADDR='127.0.0.1', PORT=str(free_port()))
    nodes, logs = [], [tmp_path / f'node{rank}.out' for rank in (0, 1)]
    try:
        for rank, log in enumerate(logs):  # output to files: a full pipe would block a node
            with open(log, 'w') as out:
                nodes.append(
                    subprocess.Popen(
                        [
                            'bash',
                            DIST_TRAIN,
                            str(TINY_CONFIG),
                            '1',
                            '--work-dir',
                            str(two_nodes),
                            *options,
                        ],
                        cwd=tmp_path,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        env=dict(os.environ, OMP_NUM_THREADS='1', NODE_RANK=str(rank), **env),
                    )
                )
        for node in nodes:
            node.wait(timeout=300)
    finally:
        for node in nodes:
            if node.poll() is None:
                node.kill()
    outputs = [log.read_text()[-3000:] for log in logs]
    assert all(node.returncode == 0 for node in nodes), outputs
    expected, got = logged(one_node), logged(two_nodes)
    assert len(expected) == 1 and got == expected  # 8 clips, 4 per rank: one iteration
