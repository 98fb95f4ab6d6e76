from ganzoo.cli import main

raise SystemExit(main())
