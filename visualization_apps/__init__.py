"""The web dashboard: Flask app factory, blueprints, Socket.IO, run manager, storage.

Not built yet (the dashboard issue); the compute core in `optimizer` does not
depend on anything here.
"""
