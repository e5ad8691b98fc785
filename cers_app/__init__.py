"""The Streamlit layer of the app: what the pages in ``pages/`` and ``app.py`` draw with.

The pages read as the screens they draw; what they call lives here, one concept a module:

- :mod:`cers_app.context`: the set-up every page runs first (the door, store, keys, demo, navigation);
- :mod:`cers_app.access`, :mod:`cers_app.sign_in`: who may open what (sign-in, allow-list, roles;
  the rules with no Streamlit call), and the door every page passes;
- :mod:`cers_app.demo`: the embedded demo district and fake CERS import service;
- :mod:`cers_app.session`: what one browser session keeps (schools, exports, tokens, snapshots);
- :mod:`cers_app.oneroster_form`, :mod:`cers_app.import_form`: the two connection forms' controllers;
- :mod:`cers_app.loading`: reading schools and section groups with progress shown;
- :mod:`cers_app.frames`: frames shaped for display (no Streamlit call: tested with plain pytest);
- :mod:`cers_app.widgets`, :mod:`cers_app.cers_panels`: drawing (grids, ask-first buttons, the CERS panels);
- :mod:`cers_app.check_file`: the Check a CSV file page's reading of an uploaded file.

Logic that a script or a scheduler also needs is in ``cers_core``; this package only adds
Streamlit to it. ``cers_demo`` is imported only when the demo district is on.
"""
