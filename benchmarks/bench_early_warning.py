"""Early-warning benchmark on OULAD (real students): train 2013B + 2013J, test on the later 2014B.

Run with `make bench`; the same as
`medtutor bench early-warning --train ../shared/data/learning_analytics/oulad --test ../shared/data/learning_analytics/oulad
 --train-presentations 2013B,2013J --test-presentations 2014B --days 14,28,56`.
(2014J is held out by the dataset's curators for blind evaluation and is not in the folder.)
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path("..") / "shared" / "data" / "learning_analytics" / "oulad"

if __name__ == "__main__":
    if not (ROOT / DATA).exists():
        sys.exit(f"dataset not found: {(ROOT / DATA).resolve()}")
    sys.exit(subprocess.call([sys.executable, "-m", "medtutor", "bench", "early-warning",
                              "--train", str(DATA), "--test", str(DATA),
                              "--train-presentations", "2013B,2013J", "--test-presentations", "2014B",
                              "--days", "14,28,56"], cwd=ROOT))
