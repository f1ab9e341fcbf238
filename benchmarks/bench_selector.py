"""Practice selector latency on a large scratch bank (20,000 items, 5,000 students).

Run with `make bench`; the same as `medtutor bench selector`.
"""

import subprocess
import sys

if __name__ == "__main__":
    sys.exit(subprocess.call([sys.executable, "-m", "medtutor", "bench", "selector"]))
