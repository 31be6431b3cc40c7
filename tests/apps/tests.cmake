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
                       FIXTURES_REQUIRED "text_smoke_run;text_smoke_resumed" FIXTURES_SETUP text_smoke_checked)

  # Error paths: name, expected message (regex), arguments.
  function(heed_text_error name expected)
    add_test(NAME "apps: heed-text error ${name}"
             COMMAND ${CMAKE_COMMAND} -DPROGRAM=$<TARGET_FILE:heed-text> "-DEXPECT=${expected}"
                     "-DARGS=${ARGN}" -DGUARD=${text_runs}/full
                     -P ${CMAKE_CURRENT_SOURCE_DIR}/apps/expect_failure.cmake)
    # After the artefact check, whose eval and predict write into the run the error tests guard.
    set_tests_properties("apps: heed-text error ${name}" PROPERTIES FIXTURES_REQUIRED "text_smoke_run;text_smoke_checked")
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
  heed_text_error("unknown device" "--device: expected cpu, cuda or cuda:N, got 'gpu'"
                  train --data ${text_fixture}/corpus.csv --out ${text_runs}/never7 --device gpu)
  # No GPU here ("no GPU is usable"), heed built without CUDA, or fewer than 8 GPUs.
  heed_text_error("unusable device" "--device cuda:7: "
                  train --data ${text_fixture}/corpus.csv --out ${text_runs}/never8 --device cuda:7)
endif()

# heed-search: a smoke training on Fashion-MNIST scenes (Debian's dataset-fashion-mnist, which
# scripts/setup installs), an interrupted-and-resumed run that must match it, eval on the item
# folder in tests/fixtures/search_items (categories the model never saw), predict, and the error
# paths.
if(TARGET heed-search)
  set(search_runs ${CMAKE_CURRENT_BINARY_DIR}/search_smoke_runs)
  set(search_items ${CMAKE_CURRENT_SOURCE_DIR}/fixtures/search_items)
  set(search_train_args --scenes 256 --validation-scenes 64 --test-scenes 40 --epochs 3 --batch 16 --width 32
                        --layers 1 --heads 2 --threads 1 --seed 1)

  add_test(NAME "apps: heed-search smoke clean" COMMAND ${CMAKE_COMMAND} -E rm -rf ${search_runs})
  set_tests_properties("apps: heed-search smoke clean" PROPERTIES FIXTURES_SETUP search_smoke_clean)
  add_test(NAME "apps: heed-search smoke train" COMMAND heed-search train ${search_train_args} --out ${search_runs}/full)
  add_test(NAME "apps: heed-search smoke train interrupted"
           COMMAND heed-search train ${search_train_args} --out ${search_runs}/resumed --stop-after 2)
  add_test(NAME "apps: heed-search smoke train resumed"
           COMMAND heed-search train --out ${search_runs}/resumed --resume --threads 1)
  add_test(NAME "apps: heed-search smoke generate"
           COMMAND heed-search generate --out ${search_runs}/scenes --count 4 --seed 2)
  set_tests_properties("apps: heed-search smoke train" "apps: heed-search smoke train interrupted"
                       "apps: heed-search smoke generate" PROPERTIES FIXTURES_REQUIRED search_smoke_clean)
  set_tests_properties("apps: heed-search smoke train" PROPERTIES FIXTURES_SETUP search_smoke_run)
  set_tests_properties("apps: heed-search smoke generate" PROPERTIES FIXTURES_SETUP search_smoke_scenes)
  set_tests_properties("apps: heed-search smoke train interrupted" PROPERTIES FIXTURES_SETUP search_smoke_interrupted)
  set_tests_properties("apps: heed-search smoke train resumed" PROPERTIES
                       FIXTURES_REQUIRED "search_smoke_clean;search_smoke_interrupted" FIXTURES_SETUP search_smoke_resumed)

  add_test(NAME "apps: heed-search smoke artefacts, eval and predict"
           COMMAND ${CMAKE_COMMAND} -DHEED_SEARCH=$<TARGET_FILE:heed-search> -DRUN=${search_runs}/full
                   -DRESUMED=${search_runs}/resumed -DSCENES=${search_runs}/scenes -DITEMS=${search_items}
                   -P ${CMAKE_CURRENT_SOURCE_DIR}/apps/check_search_smoke.cmake)
  set_tests_properties("apps: heed-search smoke artefacts, eval and predict" PROPERTIES
                       FIXTURES_REQUIRED "search_smoke_run;search_smoke_resumed;search_smoke_scenes"
                       FIXTURES_SETUP search_smoke_checked)

  function(heed_search_error name expected)
    add_test(NAME "apps: heed-search error ${name}"
             COMMAND ${CMAKE_COMMAND} -DPROGRAM=$<TARGET_FILE:heed-search> "-DEXPECT=${expected}"
                     "-DARGS=${ARGN}" -DGUARD=${search_runs}/full
                     -P ${CMAKE_CURRENT_SOURCE_DIR}/apps/expect_failure.cmake)
    # After the artefact check, whose eval and predict write into the run the error tests guard.
    set_tests_properties("apps: heed-search error ${name}" PROPERTIES
                         FIXTURES_REQUIRED "search_smoke_run;search_smoke_scenes;search_smoke_checked")
  endfunction()
  heed_search_error("scene that is not an image" "not an image file"
                    predict ${search_runs}/full --scene ${search_items}/../README.md --category Trouser)
  heed_search_error("cue of the wrong size" "is 40 x 40 pixels; this model takes 28 x 28"
                    predict ${search_runs}/full --scene ${search_runs}/scenes/scene_0001.png --cue ${search_items}/ring/2.png)
  heed_search_error("missing category" "no category 'Umbrella' among"
                    predict ${search_runs}/full --scene ${search_runs}/scenes/scene_0001.png --category Umbrella)
  heed_search_error("item folder without category folders" "needs at least two"
                    train ${search_train_args} --items ${search_items}/ring --out ${search_runs}/never1)
  heed_search_error("missing item folder" "is not a folder"
                    eval ${search_runs}/full --items ${search_runs}/no_such_items)
  heed_search_error("run from another app" "made by 'heed-eeg', not by heed-search"
                    eval ${CMAKE_CURRENT_SOURCE_DIR}/fixtures/text_smoke/other_app_run)
  heed_search_error("existing run not overwritten" "not empty.*--resume"
                    train ${search_train_args} --out ${search_runs}/full)
  heed_search_error("bad set size" "not a whole number from 1 to 16"
                    generate --out ${search_runs}/never2 --set-sizes 4,20)
endif()

# heed-eeg: simulate three subjects, a short cross-validated training (and the same interrupted
# after one fold and resumed), the artefacts, eval, predict and stream, and the error paths.
if(TARGET heed-eeg)
  set(eeg_runs ${CMAKE_CURRENT_BINARY_DIR}/eeg_smoke_runs)
  set(eeg_train_args --data ${eeg_runs}/sim --cv trial --folds 3 --epochs 4 --batch 16 --threads 1 --window 1 --stride 1)
  add_test(NAME "apps: heed-eeg smoke clean" COMMAND ${CMAKE_COMMAND} -E rm -rf ${eeg_runs})
  set_tests_properties("apps: heed-eeg smoke clean" PROPERTIES FIXTURES_SETUP eeg_smoke_clean)
  add_test(NAME "apps: heed-eeg smoke simulate"
           COMMAND heed-eeg simulate --out ${eeg_runs}/sim --subjects 3 --minutes 1 --block 10 --seed 5)
  set_tests_properties("apps: heed-eeg smoke simulate" PROPERTIES FIXTURES_REQUIRED eeg_smoke_clean
                       FIXTURES_SETUP eeg_smoke_sim)
  add_test(NAME "apps: heed-eeg smoke train" COMMAND heed-eeg train ${eeg_train_args} --out ${eeg_runs}/full)
  add_test(NAME "apps: heed-eeg smoke train interrupted"
           COMMAND heed-eeg train ${eeg_train_args} --out ${eeg_runs}/resumed --stop-after 1)
  add_test(NAME "apps: heed-eeg smoke train resumed" COMMAND heed-eeg train --out ${eeg_runs}/resumed --resume --threads 1)
  set_tests_properties("apps: heed-eeg smoke train" "apps: heed-eeg smoke train interrupted" PROPERTIES
                       FIXTURES_REQUIRED eeg_smoke_sim)
  set_tests_properties("apps: heed-eeg smoke train" PROPERTIES FIXTURES_SETUP eeg_smoke_run)
  set_tests_properties("apps: heed-eeg smoke train interrupted" PROPERTIES FIXTURES_SETUP eeg_smoke_interrupted)
  set_tests_properties("apps: heed-eeg smoke train resumed" PROPERTIES
                       FIXTURES_REQUIRED "eeg_smoke_sim;eeg_smoke_interrupted" FIXTURES_SETUP eeg_smoke_resumed)
  add_test(NAME "apps: heed-eeg smoke artefacts, eval, predict and stream"
           COMMAND ${CMAKE_COMMAND} -DHEED_EEG=$<TARGET_FILE:heed-eeg> -DRUN=${eeg_runs}/full
                   -DRESUMED=${eeg_runs}/resumed -DSIM=${eeg_runs}/sim
                   -P ${CMAKE_CURRENT_SOURCE_DIR}/apps/check_eeg_smoke.cmake)
  set_tests_properties("apps: heed-eeg smoke artefacts, eval, predict and stream" PROPERTIES
                       FIXTURES_REQUIRED "eeg_smoke_run;eeg_smoke_resumed" FIXTURES_SETUP eeg_smoke_checked)

  function(heed_eeg_error name expected)
    add_test(NAME "apps: heed-eeg error ${name}"
             COMMAND ${CMAKE_COMMAND} -DPROGRAM=$<TARGET_FILE:heed-eeg> "-DEXPECT=${expected}"
                     "-DARGS=${ARGN}" -DGUARD=${eeg_runs}/full
                     -P ${CMAKE_CURRENT_SOURCE_DIR}/apps/expect_failure.cmake)
    set_tests_properties("apps: heed-eeg error ${name}" PROPERTIES
                         FIXTURES_REQUIRED "eeg_smoke_sim;eeg_smoke_run;eeg_smoke_checked")
  endfunction()
  heed_eeg_error("folder without recordings" "no .edf, .bdf or .gdf recordings"
                 train --data ${CMAKE_CURRENT_SOURCE_DIR}/fixtures/search_items --out ${eeg_runs}/never1)
  heed_eeg_error("missing events.tsv" "neither .*sim-01_events.tsv nor .*events.tsv exists"
                 train --data ${eeg_runs}/sim --labels events.tsv --out ${eeg_runs}/never2)
  heed_eeg_error("band above Nyquist" "--band 1:80 must satisfy"
                 train --data ${eeg_runs}/sim --band 1:80 --out ${eeg_runs}/never3)
  heed_eeg_error("one class only" "at least 2 are needed"
                 train --data ${eeg_runs}/sim --classes focused --out ${eeg_runs}/never4)
  heed_eeg_error("too many folds" "--folds 9: must be in"
                 train --data ${eeg_runs}/sim --folds 9 --cv subject --out ${eeg_runs}/never5)
  heed_eeg_error("negative gain augmentation" "--augment-gain >= 0"
                 train --data ${eeg_runs}/sim --augment-gain -1 --out ${eeg_runs}/never6)
  heed_eeg_error("existing run not overwritten" "not empty.*--resume" train ${eeg_train_args} --out ${eeg_runs}/full)
  heed_eeg_error("not a recording" "README.txt"
                 predict ${eeg_runs}/full --data ${eeg_runs}/sim/README.txt)
  heed_eeg_error("run from another app" "not by heed-eeg"
                 eval ${CMAKE_CURRENT_SOURCE_DIR}/fixtures/eeg_smoke/other_app_run --data ${eeg_runs}/sim)
  heed_eeg_error("unfinished run" "training has not finished"
                 predict ${CMAKE_CURRENT_SOURCE_DIR}/fixtures/eeg_smoke/unfinished_run --data ${eeg_runs}/sim/sim-01.edf)
endif()
