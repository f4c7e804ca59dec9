"""Annotation lists are checked for their use: labels on every line, no empty lists.

Through the real tools: ``tools/train.py`` (train and val lists), ``tools/test.py`` (the
test list) and MMAction2's own ``tools/train.py`` running the same config (the checks of
``ConfigCheckHook`` run when ``ResumableEpochBasedTrainLoop`` is built, before any
dataloader).
"""
import os
from pathlib import Path

import mmaction
import pytest

from helpers import PYTHON, REPO, TINY_CONFIG, assert_one_error, data_options, run_tool_status
from smallbig_mm.data.annotations import check_video_annotations

pytestmark = pytest.mark.mmaction

TRAIN = str(REPO / 'tools' / 'train.py')
TEST = str(REPO / 'tools' / 'test.py')
MMACTION_TRAIN = Path(mmaction.__file__).parent / '.mim' / 'tools' / 'train.py'


@pytest.fixture
def lists(motion_data, tmp_path):
    """A list without labels on lines 2 and 3 (nothing, -1), and an empty one."""
    lines = motion_data.train_ann.read_text().splitlines()
    unlabelled = tmp_path / 'unlabelled.txt'
    unlabelled.write_text(f'{lines[0]}\n{lines[1].split()[0]}\n{lines[2].split()[0]} -1\n'
                          + '\n'.join(lines[3:]) + '\n')
    empty = tmp_path / 'empty.txt'
    empty.write_text('\n')
    return unlabelled, empty


def test_lines_without_labels_and_empty_lists_are_named(lists):
    unlabelled, empty = lists
    problems = check_video_annotations(str(unlabelled), num_classes=2, check_files=False)
    assert [(p.line, p.reason.split(':')[0]) for p in problems] == \
        [(2, 'no label (missing or -1)'), (3, 'no label (missing or -1)')]
    assert check_video_annotations(str(unlabelled), check_files=False,
                                   require_labels=False) == []  # prediction-only lists
    [problem] = check_video_annotations(str(empty), check_files=False)
    assert problem.line == 0 and 'lists no videos' in str(problem)


def test_train_refuses_unlabelled_and_empty_lists_before_training(motion_data, lists,
                                                                   tmp_path):
    unlabelled, empty = lists
    base = [PYTHON, TRAIN, str(TINY_CONFIG), '--work-dir', str(tmp_path / 'work'),
            '--cfg-options', *data_options(motion_data)]
    result = run_tool_status(base + [f'train_dataloader.dataset.ann_file={unlabelled}'],
                             tmp_path)
    assert_one_error(result, 1, f'{unlabelled}, line 2: no label', f'{unlabelled}, line 3')
    result = run_tool_status(base + [f'val_dataloader.dataset.ann_file={empty}'], tmp_path)
    assert_one_error(result, 1, f'val_dataloader.dataset.ann_file: {empty}: the file lists '
                     'no videos')
    assert not (tmp_path / 'work').exists()


def test_test_split_needs_labels_too(motion_data, lists, tmp_path):
    unlabelled, _ = lists
    checkpoint = tmp_path / 'any.pth'
    checkpoint.write_bytes(b'')  # the list is refused before the checkpoint is read
    result = run_tool_status([PYTHON, TEST, str(TINY_CONFIG), str(checkpoint), '--work-dir',
                              str(tmp_path / 'work'), '--cfg-options',
                              *data_options(motion_data),
                              f'test_dataloader.dataset.ann_file={unlabelled}'], tmp_path)
    assert_one_error(result, 1, f'test_dataloader.dataset.ann_file: {unlabelled}, line 2')


@pytest.mark.skipif(not MMACTION_TRAIN.is_file(), reason="MMAction2's tools are not installed")
def test_mmaction_tools_train_names_the_empty_list(motion_data, lists, tmp_path):
    _, empty = lists
    result = run_tool_status([PYTHON, str(MMACTION_TRAIN), str(TINY_CONFIG), '--work-dir',
                              str(tmp_path / 'work'), '--cfg-options',
                              *data_options(motion_data),
                              f'train_dataloader.dataset.ann_file={empty}'], tmp_path,
                             PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get(
                                 'PYTHONPATH', '')]))
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f'{empty}: the file lists no videos' in output  # not numpy's "need at least one"
    assert 'need at least one array' not in output
    assert not list((tmp_path / 'work').glob('*.pth'))


def test_a_byte_order_mark_is_named_and_crlf_lines_are_read(tmp_path):
    ann = tmp_path / 'bom.txt'
    ann.write_bytes(b'\xef\xbb\xbfa.mp4 0\r\nb.mp4 1\r\n')
    problems = check_video_annotations(str(ann), num_classes=2, check_files=False)
    assert [(p.line, 'byte-order mark' in p.reason) for p in problems] == [(1, True)]
    crlf = tmp_path / 'crlf.txt'
    crlf.write_bytes(b'a.mp4 0\r\nb.mp4 1\r\n')
    assert check_video_annotations(str(crlf), num_classes=2, check_files=False) == []
