"""``DumpResults`` that keeps what a user made: no silent overwrite, atomic, umask modes.

MMEngine's ``DumpResults`` writes the predictions in place with ``mmengine.dump``: an
existing file is replaced without a word, and a failure while writing leaves half a
pickle. :class:`SafeDumpResults` writes through
:func:`smallbig_mm.utils.files.atomic_output`.

With ``provenance`` (``smallbig-test --dump`` passes the checkpoint's SHA-256, the merged
config's digest and the options), ``<file>.provenance.json`` beside the dump records
where the predictions came from (:mod:`smallbig_mm.utils.provenance`).

Example config (``smallbig-test --dump FILE [--force]`` adds it)::

    test_evaluator = [dict(type='AccMetric'),
                      dict(type='SafeDumpResults', out_file_path='preds.pkl')]
"""

import json
from typing import Optional, Sequence

from mmaction.registry import METRICS
from mmengine.evaluator import DumpResults
from mmengine.fileio import dump
from mmengine.logging import print_log

from ...utils.files import atomic_output, check_output_path


@METRICS.register_module()
class SafeDumpResults(DumpResults):
    """Dumps the predictions to a ``.pkl`` file; refuses an existing one unless ``force``.

    Args:
        out_file_path: the output file (``.pkl`` or ``.pickle``).
        force: replace an existing file.
        inputs: files the run reads (checkpoint, config): never written over.
        collect_device, collect_dir: as for MMEngine's ``DumpResults``.
    """

    default_prefix = 'dump'  # it returns no metrics; MMEngine warns about a metric without one

    def __init__(
        self,
        out_file_path: str,
        force: bool = False,
        inputs: Sequence[str] = (),
        provenance: Optional[dict] = None,
        **kwargs,
    ) -> None:
        super().__init__(out_file_path, **kwargs)
        self.force = force
        self.provenance = provenance
        self.inputs = tuple(inputs)
        check_output_path(out_file_path, force, self.inputs)  # before any sample is run

    def compute_metrics(self, results: list) -> dict:
        """Writes the predictions atomically (rank 0 only, as MMEngine calls it)."""
        with atomic_output(self.out_file_path, force=self.force, inputs=self.inputs) as tmp:
            dump(results, tmp, file_format='pkl')
        if self.provenance is not None:
            with atomic_output(f'{self.out_file_path}.provenance.json', force=True) as tmp:
                with open(tmp, 'w', encoding='utf-8') as f:
                    json.dump(self.provenance, f, indent=1)
        print_log(f'Results have been saved to {self.out_file_path}.', logger='current')
        return {}
