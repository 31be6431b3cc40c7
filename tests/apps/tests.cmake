# Whole-program runs of heed-text (included by tests/CMakeLists.txt): a smoke training on the
# small committed corpus in tests/fixtures/text_smoke, an interrupted-and-resumed run that must
# match it, and the error paths (each must fail with one clear line and touch no run files).
if(TARGET heed-text)
  set(text_fixture ${CMAKE_CURRENT_SOURCE_DIR}/fixtures/text_smoke)
  set(text_runs ${CMAKE_CURRENT_BINARY_DIR}/text_smoke_runs)
  set(text_train_args --data ${text_fixture}/corpus.csv --epochs 3 --batch 16 --embed 32 --heads 2 --max-length 48
                      --vocab 2000 --threads 1 --seed 3)

  add_test(NAME "apps: heed-text smoke clean" COMMAND ${CMAKE_COMMAND} -E rm -rf ${text_runs})
  set_tests_properties("apps: heed-text smoke clean" PROPERTIES FIXTURES_SETUP text_smoke_clean)

  add_test(NAME "apps: heed-text smoke train" COMMAND heed-text train ${text_train_args} --out ${text_runs}/full)
  add_test(NAME "apps: heed-text smoke train interrupted"
           COMMAND heed-text train ${text_train_args} --out ${text_runs}/resumed --stop-after 1)
  add_test(NAME "apps: heed-text smoke train resumed"
           COMMAND heed-text train --out ${text_runs}/resumed --resume --threads 1)
  set_tests_properties("apps: heed-text smoke train" "apps: heed-text smoke train interrupted" PROPERTIES
                       FIXTURES_REQUIRED text_smoke_clean)
  set_tests_properties("apps: heed-text smoke train" PROPERTIES FIXTURES_SETUP text_smoke_run)
  set_tests_properties("apps: heed-text smoke train interrupted" PROPERTIES FIXTURES_SETUP text_smoke_interrupted)
  set_tests_properties("apps: heed-text smoke train resumed" PROPERTIES
                       FIXTURES_REQUIRED "text_smoke_clean;text_smoke_interrupted" FIXTURES_SETUP text_smoke_resumed)

  add_test(NAME "apps: heed-text smoke artefacts, eval and predict"
           COMMAND ${CMAKE_COMMAND} -DHEED_TEXT=$<TARGET_FILE:heed-text> -DRUN=${text_runs}/full
                   -DRESUMED=${text_runs}/resumed -DDATA=${text_fixture}/corpus.csv
                   -P ${CMAKE_CURRENT_SOURCE_DIR}/apps/check_text_smoke.cmake)
  set_tests_properties("apps: heed-text smoke artefacts, eval and predict" PROPERTIES
                       FIXTURES_REQUIRED "text_smoke_run;text_smoke_resumed")

  # Error paths: name, expected message (regex), arguments.
  function(heed_text_error name expected)
    add_test(NAME "apps: heed-text error ${name}"
             COMMAND ${CMAKE_COMMAND} -DPROGRAM=$<TARGET_FILE:heed-text> "-DEXPECT=${expected}"
                     "-DARGS=${ARGN}" -DGUARD=${text_runs}/full
                     -P ${CMAKE_CURRENT_SOURCE_DIR}/apps/expect_failure.cmake)
    set_tests_properties("apps: heed-text error ${name}" PROPERTIES FIXTURES_REQUIRED text_smoke_run)
  endfunction()
  heed_text_error("missing folder" "no such file or folder"
                  train --data ${text_runs}/no_such_corpus --out ${text_runs}/never1)
  heed_text_error("single-class corpus" "single class"
                  train --data ${text_fixture}/single_class.csv --out ${text_runs}/never2)
  heed_text_error("empty corpus" "error: .*(empty|no texts)"
                  train --data ${text_fixture}/empty.csv --out ${text_runs}/never3)
  heed_text_error("unknown file type" "error: "
                  train --data ${text_fixture}/README.md --out ${text_runs}/never4)
  heed_text_error("existing run not overwritten" "not empty.*--resume"
                  train --data ${text_fixture}/corpus.csv --out ${text_runs}/full)
  heed_text_error("eval of a folder that is no run" "no config.json"
                  eval ${text_fixture} --data ${text_fixture}/corpus.csv)
  heed_text_error("run from another app" "made by 'heed-eeg'"
                  predict ${text_fixture}/other_app_run "text")
  heed_text_error("unknown option" "unknown option --epoch "
                  train --data ${text_fixture}/corpus.csv --out ${text_runs}/never5 --epoch 3)
  heed_text_error("bad model kind" "--model must be one of"
                  train --data ${text_fixture}/corpus.csv --out ${text_runs}/never6 --model cnn)
endif()
