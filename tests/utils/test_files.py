"""smallbig_mm.utils.files: atomic writes, the umask's modes, --force and its limits."""

import os
import stat
import subprocess
import sys

import pytest

from smallbig_mm.utils.files import (
    TMP_MARK,
    FolderNotWritableError,
    OutputExistsError,
    OutputPathError,
    atomic_folder,
    atomic_output,
    check_output_path,
    ensure_writable_folder,
    remove_stale_temporaries,
    umask_mode,
)


@pytest.fixture
def umask_027():
    old = os.umask(0o027)
    yield
    os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / 'out.txt'
    target.write_text('old')
    with pytest.raises(RuntimeError), atomic_output(target, force=True) as tmp:
        with open(tmp, 'w') as f:
            f.write('half')
        raise RuntimeError('encoder failed')
    assert target.read_text() == 'old'
    assert os.listdir(tmp_path) == ['out.txt']


def test_the_temporary_keeps_the_suffix_and_lies_beside_the_target(tmp_path):
    with atomic_output(tmp_path / 'model.safetensors') as tmp:
        assert os.path.dirname(tmp) == str(tmp_path)
        assert tmp.endswith('.safetensors') and TMP_MARK in os.path.basename(tmp)
        open(tmp, 'w').close()


def test_existing_output_needs_force_and_force_replaces(tmp_path):
    target = tmp_path / 'out.txt'
    target.write_text('mine')
    with pytest.raises(OutputExistsError, match='--force'):
        with atomic_output(target):
            pass
    assert target.read_text() == 'mine'
    with atomic_output(target, force=True) as tmp, open(tmp, 'w') as f:
        f.write('new')
    assert target.read_text() == 'new'


def test_force_never_writes_onto_an_input_or_a_folder(tmp_path):
    source = tmp_path / 'in.pth'
    source.write_text('weights')
    with pytest.raises(OutputPathError, match='overwrite the input'):
        check_output_path(source, force=True, inputs=(str(source),))
    with pytest.raises(OutputPathError, match='is a folder'):
        check_output_path(tmp_path, force=True)
    assert isinstance(OutputPathError('x'), ValueError) and OutputPathError.exit_status == 2


def test_a_file_appearing_during_the_write_is_not_replaced(tmp_path):
    target = tmp_path / 'out.txt'
    with pytest.raises(OutputExistsError):
        with atomic_output(target) as tmp:
            open(tmp, 'w').close()
            target.write_text('written meanwhile by someone else')
    assert target.read_text() == 'written meanwhile by someone else'


def test_new_files_and_folders_get_the_umask_modes(tmp_path, umask_027):
    assert umask_mode() == 0o640 and umask_mode(0o777) == 0o750
    target = tmp_path / 'new' / 'out.txt'
    with atomic_output(target) as tmp:
        os.chmod(tmp, 0o600)  # a writer that sets its own mode (safetensors replaces files)
    assert mode(target) == 0o640 and mode(target.parent) == 0o750
    with atomic_folder(tmp_path / 'hub') as folder:
        open(os.path.join(folder, 'config.json'), 'w').close()
    assert mode(tmp_path / 'hub') == 0o750


def test_atomic_folder_refuses_a_non_empty_folder_and_a_file(tmp_path):
    folder = tmp_path / 'hub'
    folder.mkdir()
    (folder / 'mine.txt').write_text('keep')
    with pytest.raises(OutputExistsError):
        with atomic_folder(folder):
            pass
    (tmp_path / 'file').write_text('x')
    with pytest.raises(OutputPathError, match='is a file'):
        with atomic_folder(tmp_path / 'file', force=True):
            pass
    assert (folder / 'mine.txt').read_text() == 'keep'


def test_atomic_folder_with_force_replaces_and_keeps_it_on_failure(tmp_path):
    folder = tmp_path / 'hub'
    folder.mkdir()
    (folder / 'old.txt').write_text('old')
    with pytest.raises(RuntimeError), atomic_folder(folder, force=True) as tmp:
        open(os.path.join(tmp, 'new.txt'), 'w').close()
        raise RuntimeError
    assert os.listdir(folder) == ['old.txt']
    with atomic_folder(folder, force=True) as tmp:
        open(os.path.join(tmp, 'new.txt'), 'w').close()
    assert os.listdir(folder) == ['new.txt'] and os.listdir(tmp_path) == ['hub']


def test_atomic_folder_never_deletes_an_input_inside_it(tmp_path):
    folder = tmp_path / 'hub'
    folder.mkdir()
    (folder / 'model.pth').write_text('weights')
    with pytest.raises(OutputPathError, match='holds the input'):
        with atomic_folder(folder, force=True, inputs=(str(folder / 'model.pth'),)):
            pass
    assert (folder / 'model.pth').read_text() == 'weights'


def test_stale_temporaries_of_dead_writers_only_are_removed(tmp_path):
    dead = subprocess.run(
        [sys.executable, '-c', 'import os; print(os.getpid())'],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    stale = tmp_path / f'.out.pth{TMP_MARK}{dead}.pth'
    live = tmp_path / f'.out.pth{TMP_MARK}{os.getpid()}.pth'
    other = tmp_path / f'.notes.txt{TMP_MARK}{dead}.txt'
    for path in (stale, live, other):
        path.write_text('')
    assert remove_stale_temporaries(str(tmp_path), 'out.pth') == [str(stale)]
    assert live.exists() and other.exists()


def test_unwritable_folders_are_one_user_error(tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text('')
    with pytest.raises(FolderNotWritableError, match='is a file, not a folder') as error:
        ensure_writable_folder(blocker / 'runs', '--work-dir')
    assert str(error.value).startswith(f'--work-dir {blocker / "runs"} cannot be created')
    with pytest.raises(FolderNotWritableError):
        check_output_path(blocker / 'out.txt')
