# Checks the heed-eeg smoke run RUN: every artefact exists and parses, the final model's
# validation loss fell, the interrupted-then-resumed run RESUMED ended exactly like RUN, and
# eval, predict and stream work on the simulated recordings in SIM.
include(${CMAKE_CURRENT_LIST_DIR}/smoke_checks.cmake)
require_files(${RUN} config.json folds.json model.safetensors baseline.safetensors history.json metrics.json report.txt
              curves.png attention.png spectrum.png channels.png fold-1.safetensors fold-2.safetensors fold-3.safetensors)
require_pngs(${RUN} curves.png attention.png spectrum.png channels.png)
require_validation_loss_fell(${RUN})

file(READ ${RUN}/metrics.json metrics)
foreach(model eegnet-lstm bandpower)
  foreach(key trial_accuracy_mean window_accuracy_mean)
    string(JSON value GET "${metrics}" ${model} ${key})
    if(value LESS 0 OR value GREATER 1)
      message(FATAL_ERROR "metrics.json: ${model} ${key} = ${value}")
    endif()
  endforeach()
endforeach()
string(JSON cv GET "${metrics}" cv)
string(JSON folds LENGTH "${metrics}" folds)
if(NOT cv STREQUAL "trial" OR NOT folds EQUAL 3)
  message(FATAL_ERROR "metrics.json: ${folds} folds by ${cv}, expected 3 by trial")
endif()
file(READ ${RUN}/report.txt report)
if(NOT report MATCHES "relaxed" OR NOT report MATCHES "precision +recall +f1-score +support" OR NOT report MATCHES "bandpower")
  message(FATAL_ERROR "report.txt lacks the per-class report or the baseline:\n${report}")
endif()

string(JSON sim01 GET "${metrics}" folds 0 eegnet-lstm recording_window_accuracy)
if(NOT sim01 MATCHES "sim-0[123].edf")
  message(FATAL_ERROR "metrics.json: no per-recording accuracy in fold 1: ${sim01}")
endif()

file(READ ${RESUMED}/folds.json resumed_folds)
file(READ ${RUN}/folds.json full_folds)
if(NOT resumed_folds STREQUAL full_folds)
  message(FATAL_ERROR "the resumed run's folds differ from the uninterrupted run's")
endif()

execute_process(COMMAND ${HEED_EEG} eval ${RUN} --data ${SIM}/sim-02.edf --json ${RUN}/eval.json
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "eegnet-lstm \\(ensemble of 4\\): trial accuracy [0-9.]+" OR NOT EXISTS ${RUN}/eval.json)
  message(FATAL_ERROR "eval failed (${rc}):\n${out}\n${err}")
endif()

execute_process(COMMAND ${HEED_EEG} predict ${RUN} --data ${SIM}/sim-03.edf --at 12 --png ${RUN}/predict.png
                        --jsonl ${RUN}/predict.jsonl
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "(focused|relaxed) +0\\.[0-9]+" OR NOT EXISTS ${RUN}/predict.jsonl)
  message(FATAL_ERROR "predict failed (${rc}):\n${out}\n${err}")
endif()
require_pngs(${RUN} predict.png)

execute_process(COMMAND ${HEED_EEG} stream ${RUN} --data ${SIM}/sim-01.edf --speed 0 --step 5
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "t= +[0-9.]+ s +(focused|relaxed) +\\[#*\\.*\\] [01]\\.[0-9][0-9].*annotated: (focused|relaxed)")
  message(FATAL_ERROR "stream failed (${rc}):\n${out}\n${err}")
endif()
