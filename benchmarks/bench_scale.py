"""Scale-out benchmark: the same student workload on one app server, then two, on one PostgreSQL and
one Redis, in the same run (the one-server row is the baseline).

    python benchmarks/bench_scale.py        # the same as `medtutor bench scale`
"""

import subprocess
import sys

sys.exit(subprocess.call([sys.executable, "-m", "medtutor", "bench", "scale", *sys.argv[1:]]))
