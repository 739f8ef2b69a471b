"""Import first in every benchmark script: keeps `benchmarks/dispatch.py` from shadowing the
`dispatch` package.

A script run as ``python benchmarks/X.py`` has this folder first on ``sys.path``, where
``dispatch.py`` (the dispatcher's benchmark) would be found before the package of the same
name. Moving the folder to the end of the path finds the packages first and still lets a
script import its sibling modules (e.g. `direct_highspy`).
"""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE] + [_HERE]
