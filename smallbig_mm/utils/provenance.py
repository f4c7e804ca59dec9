"""Where a derived output came from: the identity of its inputs and its settings.

A derived output (features, a prediction dump, an exported model, a hub folder) records a
*provenance*: the tool that wrote it, the identity of every input (a video by its path,
size and modification time; a checkpoint or config by the SHA-256 of its content) and
every setting that changes it. A rerun reuses the output only when the provenance it
would write equals the recorded one; otherwise :func:`differences` names what changed,
in one line. Standard library only.

Example:
    >>> import tempfile, os
    >>> video = os.path.join(tempfile.mkdtemp(), 'a.mp4')
    >>> _ = open(video, 'wb').write(b'1234')
    >>> old = make_provenance('tool', {'video': file_identity(video)}, {'clip_len': 4})
    >>> new = make_provenance('tool', {'video': file_identity(video)}, {'clip_len': None})
    >>> differences(old, new)
    ['settings.clip_len 4 (now None)']
"""

import hashlib
import json
import os
from typing import Any, Dict, List, Mapping, Optional

_CHUNK = 1 << 20
_sha_cache: Dict[tuple, str] = {}


def sha256_file(path: str) -> str:
    """The SHA-256 of a file's content, hex (cached per path, size and mtime in a process).

    Example:
        >>> import tempfile
        >>> path = tempfile.NamedTemporaryFile(delete=False).name
        >>> sha256_file(path)[:16]
        'e3b0c44298fc1c14'
    """
    stat = os.stat(path)
    key = (os.path.abspath(path), stat.st_size, stat.st_mtime_ns)
    if key not in _sha_cache:
        digest = hashlib.sha256()
        with open(path, 'rb') as f:
            for chunk in iter(lambda: f.read(_CHUNK), b''):
                digest.update(chunk)
        _sha_cache[key] = digest.hexdigest()
    return _sha_cache[key]


def file_identity(path: str, content: bool = False) -> Dict[str, Any]:
    """``{'path', 'size', 'mtime_ns'}`` of a file, plus ``'sha256'`` when ``content``.

    Use ``content=True`` for inputs that may be replaced in place by a file of the same
    size (checkpoints); path, size and modification time suffice for videos.
    """
    stat = os.stat(path)
    identity: Dict[str, Any] = dict(
        path=os.path.abspath(path), size=stat.st_size, mtime_ns=stat.st_mtime_ns
    )
    if content:
        identity['sha256'] = sha256_file(path)
    return identity


def text_digest(value: Any) -> str:
    """The SHA-256 of ``value`` as canonical JSON (sorted keys; other types by ``repr``):
    the identity of a merged config, a dict of options..."""
    text = json.dumps(value, sort_keys=True, default=repr, separators=(',', ':'))
    return hashlib.sha256(text.encode('utf-8')).hexdigest()


def make_provenance(
    tool: str, inputs: Mapping[str, Any], settings: Mapping[str, Any]
) -> Dict[str, Any]:
    """The record to store beside (or inside) an output.

    Args:
        tool: the writer's name, e.g. ``'smallbig-extract-features'``.
        inputs: name -> identity (:func:`file_identity`, or a digest string).
        settings: every option that changes the output (as JSON-able values; ``None`` for
            "the default").
    """
    return json.loads(
        json.dumps(dict(tool=tool, inputs=dict(inputs), settings=dict(settings)), default=repr)
    )


def _flatten(value: Any, prefix: str, out: Dict[str, Any]) -> None:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _flatten(item, f'{prefix}.{key}' if prefix else str(key), out)
    else:
        out[prefix] = value


def differences(recorded: Optional[Mapping[str, Any]], current: Mapping[str, Any]) -> List[str]:
    """What differs between a recorded provenance and the current one, key by key.

    A changed video is named by what changed (``inputs.video.size``); a changed content
    digest reads ``inputs.checkpoint.sha256 (content changed)``.

    Example:
        >>> differences({'inputs': {'ckpt': {'sha256': 'a'}}}, {'inputs': {'ckpt': {'sha256': 'b'}}})
        ['inputs.ckpt.sha256 (content changed)']
    """
    if not recorded:
        return ['no record of its inputs (written by an older version)']
    old: Dict[str, Any] = {}
    new: Dict[str, Any] = {}
    _flatten(dict(recorded), '', old)
    _flatten(dict(current), '', new)
    found = []
    for key in sorted(set(old) | set(new), key=lambda k: (not k.startswith('inputs'), k)):
        if old.get(key) == new.get(key):
            continue
        if key.endswith(('sha256', 'digest')):
            found.append(f'{key} (content changed)')
        elif key not in old:
            found.append(f'{key} (not recorded; now {new[key]!r})')
        else:
            found.append(f'{key} {old[key]!r} (now {new.get(key)!r})')
    return found
