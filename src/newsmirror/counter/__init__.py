"""The view counter (`newsmirror counter serve`) and what the hot list reads from it."""
