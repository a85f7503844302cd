"""The browser UI's static server: the built single-page app (``web/dist``) and its config."""
