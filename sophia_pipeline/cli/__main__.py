"""``python -m sophia_pipeline.cli``: the ``sophia-pipeline`` command without its script."""

from sophia_pipeline.cli import main

raise SystemExit(main())
