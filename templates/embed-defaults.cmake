# Writes OUTPUT, a C source holding every file of INPUT_DIR as a
# NUL-terminated byte array, and the table dk_default_templates naming them
# (see templates/defaults-private.h). Run with cmake -P. The web desk's
# pages use it too, with HEADER (the header to include), TYPE (the table's
# element type, a name and a source like DkDefaultTemplate) and TABLE.
if(NOT HEADER)
  set(HEADER templates/defaults-private.h)
  set(TYPE DkDefaultTemplate)
  set(TABLE dk_default_templates)
endif()
file(GLOB files RELATIVE ${INPUT_DIR} ${INPUT_DIR}/*)
list(SORT files)
set(body "/* Generated from ${INPUT_DIR} by embed-defaults.cmake: do not edit. */\n")
string(APPEND body "#include \"${HEADER}\"\n\n")
set(table "")
# CMake regular expressions have no {n}: spell out sixteen bytes a line.
string(REPEAT "0x..," 16 sixteen)
set(i 0)
foreach(name ${files})
  if(IS_DIRECTORY ${INPUT_DIR}/${name})
    continue()
  endif()
  file(READ ${INPUT_DIR}/${name} hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(REGEX REPLACE "(${sixteen})" "\\1\n\t" bytes "${bytes}")
  string(APPEND body "static const unsigned char ${TABLE}_${i}[] = {\n\t${bytes}0x00};\n")
  string(APPEND table "\t{\"${name}\", (const char *)${TABLE}_${i}},\n")
  math(EXPR i "${i} + 1")
endforeach()
string(APPEND body "\nconst ${TYPE} ${TABLE}[] = {\n${table}\t{0, 0},\n};\n")
file(WRITE ${OUTPUT} "${body}")
