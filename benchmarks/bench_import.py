"""Question-bank benchmark: import throughput and search latency on MedMCQA (dev part).

Run with `make bench`; the same as `medtutor bench import ../shared/data/questions/medmcqa/`.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "questions" / "medmcqa"

if __name__ == "__main__":
    if not DATA.exists():
        sys.exit(f"dataset not found: {DATA}")
    sys.exit(subprocess.call([sys.executable, "-m", "medtutor", "bench", "import", str(DATA)]))
