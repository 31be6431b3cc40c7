# Checks shared by the apps' smoke-run scripts (check_*_smoke.cmake include this file).

# Fails unless every named file exists in DIR.
function(require_files dir)
  foreach(name ${ARGN})
    if(NOT EXISTS ${dir}/${name})
      message(FATAL_ERROR "missing ${dir}/${name}")
    endif()
  endforeach()
endfunction()

# Fails unless every named file in DIR starts with the PNG signature.
function(require_pngs dir)
  foreach(name ${ARGN})
    file(READ ${dir}/${name} signature LIMIT 8 HEX)
    if(NOT signature STREQUAL "89504e470d0a1a0a")
      message(FATAL_ERROR "${name} is not a PNG (starts ${signature})")
    endif()
  endforeach()
endfunction()

# Fails unless RUN/history.json holds at least two epochs and the validation loss of the last is
# below the first's. Sets `last` (the last epoch's index) and `last_loss` in the caller.
function(require_validation_loss_fell run)
  file(READ ${run}/history.json history)
  string(JSON epochs LENGTH "${history}")
  if(epochs LESS 2)
    message(FATAL_ERROR "history.json holds ${epochs} epochs")
  endif()
  math(EXPR last_epoch "${epochs} - 1")
  string(JSON first_loss GET "${history}" 0 validation_loss)
  string(JSON final_loss GET "${history}" ${last_epoch} validation_loss)
  if(NOT final_loss LESS first_loss)
    message(FATAL_ERROR "validation loss did not fall: ${first_loss} -> ${final_loss}")
  endif()
  set(last ${last_epoch} PARENT_SCOPE)
  set(last_loss ${final_loss} PARENT_SCOPE)
endfunction()

# The SHA-256 of every file under DIR, as one string, in `out_var`.
function(folder_hashes dir out_var)
  file(GLOB_RECURSE files ${dir}/*)
  set(hashes "")
  foreach(f IN LISTS files)
    file(SHA256 ${f} hash)
    string(APPEND hashes "${f}=${hash};")
  endforeach()
  set(${out_var} "${hashes}" PARENT_SCOPE)
endfunction()
