import sys

from .. import argtypes
from .cli import main

sys.exit(argtypes.run_main(main))
