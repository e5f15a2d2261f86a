"""Session 15's two check fixes (a refusal phrase copied from a shown sentence is not a refusal; a
claim may rest on a chosen sentence and its shown neighbour together), measured by re-running
id-dev and both splits: before (the differing-figures runs) and after, every answer that changed.

    python eval/results/session15/check_table.py   (from the project root; saved as check_table.txt)
"""

from __future__ import annotations

import differ_table

differ_table.RUNS = {
    "id-dev": ("session15/final-iddev-06", "session15/neighbours-iddev-06"),
    "dev": ("session15/final-dev-06", "session15/neighbours-dev-06"),
    "test (held out)": ("session15/final-test-06", "session15/neighbours-test-06"),
}

if __name__ == "__main__":
    differ_table.main()
