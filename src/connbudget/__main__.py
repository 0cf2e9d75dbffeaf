from connbudget.cli import main

raise SystemExit(main())
