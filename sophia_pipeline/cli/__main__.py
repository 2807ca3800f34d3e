"""``python -m sophia_pipeline.cli``: the same command as the ``sophia-pipeline`` script."""

from sophia_pipeline.cli import main

raise SystemExit(main())
