# Fails unless the file DOC contains the whole text of the file CODE (docs that quote code
# stay true to it). Usage: cmake -DDOC=... -DCODE=... -P check_doc_includes.cmake
file(READ "${DOC}" doc)
file(READ "${CODE}" code)
string(FIND "${doc}" "${code}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "${DOC} no longer quotes ${CODE} verbatim: copy the file into it again")
endif()
