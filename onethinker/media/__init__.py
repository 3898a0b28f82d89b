"""Media I/O: probing, decoding and sampling (decord), images, and browser-playable encoding.

Import from the submodules (``onethinker.media.probe`` …); this package file stays empty so that
importing one part never pulls in the others' heavy dependencies.
"""
