# Checks the smoke run RUN: validation loss fell, every artefact exists and parses, eval and
# predict work on it, and the interrupted-then-resumed run RESUMED ended exactly like RUN.
include(${CMAKE_CURRENT_LIST_DIR}/smoke_checks.cmake)
require_files(${RUN} config.json tokenizer.json split.json best.safetensors last.safetensors metrics.json report.txt
              curves.png history.json)
require_validation_loss_fell(${RUN})

file(READ ${RUN}/metrics.json metrics)
string(JSON accuracy GET "${metrics}" test accuracy)
string(JSON spam_f1 GET "${metrics}" test classes spam f1-score)
if(accuracy LESS 0.5 OR spam_f1 LESS 0.5)
  message(FATAL_ERROR "test accuracy ${accuracy}, spam F1 ${spam_f1}: the smoke model learnt nothing")
endif()
file(READ ${RUN}/report.txt report)
if(NOT report MATCHES "precision +recall +f1-score +support" OR NOT report MATCHES "weighted avg")
  message(FATAL_ERROR "report.txt is not a classification report:\n${report}")
endif()
require_pngs(${RUN} curves.png)

# The resumed run saw the same batches and random numbers: the same history and test figures.
file(READ ${RESUMED}/metrics.json resumed_metrics)
string(JSON resumed_test GET "${resumed_metrics}" test)
string(JSON full_test GET "${metrics}" test)
file(READ ${RESUMED}/history.json resumed_history)
string(JSON resumed_last_loss GET "${resumed_history}" ${last} validation_loss)
if(NOT resumed_test STREQUAL full_test OR NOT resumed_last_loss STREQUAL last_loss)
  message(FATAL_ERROR "resumed run differs: ${resumed_test} / ${resumed_last_loss} vs ${full_test} / ${last_loss}")
endif()

execute_process(COMMAND ${HEED_TEXT} predict ${RUN} "click here now to claim your free prize"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "^(ham|spam)\t[0-9.]+\n  top tokens: ")
  message(FATAL_ERROR "predict failed (${rc}):\n${out}\n${err}")
endif()
file(READ ${RUN}/predict.html html)
if(NOT html MATCHES "<span class=\"t\" style=\"background: rgba\\(255, 80, 0, 1.000\\)\"")
  message(FATAL_ERROR "predict.html has no token at full weight")
endif()

execute_process(COMMAND ${HEED_TEXT} eval ${RUN} --data ${DATA} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "test part" OR NOT out MATCHES "macro avg")
  message(FATAL_ERROR "eval failed (${rc}):\n${out}\n${err}")
endif()
file(READ ${RUN}/eval.json eval)
string(JSON eval_accuracy GET "${eval}" report accuracy)
if(NOT eval_accuracy STREQUAL accuracy)
  message(FATAL_ERROR "eval's test accuracy ${eval_accuracy} differs from training's ${accuracy}")
endif()
