"""Rich renderables shared by the command line (``cli``) and the app (``ui``); core imports only."""
