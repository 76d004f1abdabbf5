# Writes the bytes of INPUT as a comma-separated C initializer list to OUTPUT
# (cmake -DINPUT=... -DOUTPUT=... -P EmbedFile.cmake).
file(READ "${INPUT}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE "${OUTPUT}" "${bytes}\n")
