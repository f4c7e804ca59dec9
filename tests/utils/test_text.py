"""smallbig_mm.utils.text.preview: long lists in one line."""

import pytest

from smallbig_mm.utils.text import preview


@pytest.mark.parametrize(
    'items, limit, total, expected',
    [
        ([], 8, True, ''),
        (['a'], 1, True, 'a'),
        (['a', 'b', 'c'], 3, True, 'a, b, c'),
        (['a', 'b', 'c'], 2, True, 'a, b, ... (3 in all)'),
        (['a', 'b', 'c'], 2, False, 'a, b, ...'),
        (['a', 'b', 'c'], 0, True, ', ... (3 in all)'),
    ],
)
def test_preview(items, limit, total, expected):
    assert preview(items, limit=limit, total=total) == expected


def test_preview_takes_any_iterable_and_separator():
    assert preview((f'k{i}' for i in range(10)), limit=2, sep='; ') == 'k0; k1; ... (10 in all)'
