"""The playground's web page and the JSON API it uses."""
