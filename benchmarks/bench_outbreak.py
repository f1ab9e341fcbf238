"""Outbreak-detection benchmark: EARS C1-C3, CUSUM, Serfling and Farrington-style detectors on 200 seeded
outbreaks injected into the S. Agona series, and on the 14 labelled RKI series beside the published figures
of the R package surveillance vignette.

Run with `make bench`; the same as
`medtutor bench outbreak --data ../shared/data/surveillance/r_surveillance_pkg/classic_series.csv
 --series salmonella.agona --seeds 200`.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path("..") / "shared" / "data" / "surveillance" / "r_surveillance_pkg"

if __name__ == "__main__":
    if not (ROOT / DATA).exists():
        sys.exit(f"dataset not found: {(ROOT / DATA).resolve()}")
    sys.exit(subprocess.call([sys.executable, "-m", "medtutor", "bench", "outbreak",
                              "--data", str(DATA / "classic_series.csv"), "--series", "salmonella.agona",
                              "--seeds", "200", "--labelled", str(DATA / "labelled_outbreaks.csv")], cwd=ROOT))
