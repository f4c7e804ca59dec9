"""Analysis: exact MAC and parameter counts (torch only) and the speed/memory benchmark."""
