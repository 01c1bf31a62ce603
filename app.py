"""The dashboard: ``python app.py [--host 127.0.0.1] [--port 5000] [--data-dir DIR]``.

The same as the installed ``strategy-optimizer-dashboard``; see
`visualization_apps.server`.
"""

from visualization_apps.server import main

if __name__ == "__main__":
    main()
