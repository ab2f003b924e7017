"""What every layer leans on and none owns: atomic writes and locks (:mod:`.atomic`), turning
paths into files (:mod:`.files`), where the embedded state lives (:mod:`.home`), and progress
bars (:mod:`.progress`)."""
