# Checks the heed-search smoke run RUN: validation loss fell, every artefact exists and parses,
# the interrupted-then-resumed run RESUMED ended exactly like RUN, eval works on the unseen item
# folder ITEMS, and predict works on a scene of SCENES (written by heed-search generate).
include(${CMAKE_CURRENT_LIST_DIR}/smoke_checks.cmake)
require_files(${RUN} config.json best.safetensors last.safetensors history.json curves.png metrics.json report.txt
              set_size.png examples.png)
require_pngs(${RUN} curves.png set_size.png examples.png)
require_validation_loss_fell(${RUN})

file(READ ${RUN}/metrics.json metrics)
foreach(key presence_accuracy pointing_game important_f1)
  string(JSON value GET "${metrics}" ${key})
  if(value LESS 0 OR value GREATER 1)
    message(FATAL_ERROR "metrics.json: ${key} = ${value}")
  endif()
endforeach()
string(JSON scenes GET "${metrics}" by_condition_and_set_size feature 16 scenes)
if(NOT scenes EQUAL 4)
  message(FATAL_ERROR "metrics.json: ${scenes} feature scenes of set size 16, expected 4 of the 40")
endif()
file(READ ${RUN}/report.txt report)
if(NOT report MATCHES "Important" OR NOT report MATCHES "precision +recall +f1-score +support")
  message(FATAL_ERROR "report.txt has no patch-label report:\n${report}")
endif()

file(READ ${RESUMED}/metrics.json resumed_metrics)
string(JSON resumed_accuracy GET "${resumed_metrics}" presence_accuracy)
string(JSON full_accuracy GET "${metrics}" presence_accuracy)
file(READ ${RESUMED}/history.json resumed_history)
string(JSON resumed_last_loss GET "${resumed_history}" ${last} validation_loss)
if(NOT resumed_accuracy STREQUAL full_accuracy OR NOT resumed_last_loss STREQUAL last_loss)
  message(FATAL_ERROR "resumed run differs: ${resumed_accuracy} / ${resumed_last_loss} vs ${full_accuracy} / ${last_loss}")
endif()

execute_process(COMMAND ${HEED_SEARCH} eval ${RUN} --items ${ITEMS} --test-scenes 20 --test-set-sizes 2,3
                        --out ${RUN}/eval-unseen
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT EXISTS ${RUN}/eval-unseen/metrics.json OR NOT EXISTS ${RUN}/eval-unseen/examples.png)
  message(FATAL_ERROR "eval on the unseen item folder failed (${rc}):\n${out}\n${err}")
endif()
file(READ ${RUN}/eval-unseen/metrics.json unseen)
string(JSON categories GET "${unseen}" categories)
if(NOT categories MATCHES "ring")
  message(FATAL_ERROR "eval did not use the item folder: ${categories}")
endif()

execute_process(COMMAND ${HEED_SEARCH} predict ${RUN} --scene ${SCENES}/scene_0001.png --cue ${SCENES}/cue_0001.png
                        --out ${RUN}/predict-cue.png
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "target (present|absent) \\(p\\(present\\) = [0-9.]+\\)" OR
   NOT out MATCHES "attention peak: patch row [0-3], column [0-3]" OR NOT EXISTS ${RUN}/predict-cue.png)
  message(FATAL_ERROR "predict with a cue image failed (${rc}):\n${out}\n${err}")
endif()
execute_process(COMMAND ${HEED_SEARCH} predict ${RUN} --scene ${SCENES}/scene_0000.png --category Trouser
                        --out ${RUN}/predict-category.png --map rollout
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT EXISTS ${RUN}/predict-category.png)
  message(FATAL_ERROR "predict --category failed (${rc}):\n${out}\n${err}")
endif()

file(READ ${SCENES}/scenes.json scenes_json)
string(JSON count LENGTH "${scenes_json}" scenes)
string(JSON rows LENGTH "${scenes_json}" scenes 0 patch_labels)
if(NOT count EQUAL 4 OR NOT rows EQUAL 4)
  message(FATAL_ERROR "scenes.json: ${count} scenes, ${rows} rows of patch labels")
endif()
