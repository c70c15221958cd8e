# Turns the page of the HTML report (report.html, report.css, report.js
# beside this file) into C strings in the file OUT: run at build time as
# `cmake -DOUT=... -P embed.cmake` whenever one of them changes, so that
# the page stays three files to read and edit.
#
# The style and the script are written inside <style> and <script>
# elements, which only "</style" and "</script" can end: either one in
# them would cut the page, so it stops the build.
cmake_policy(VERSION 3.25)
get_filename_component(dir ${CMAKE_CURRENT_LIST_FILE} DIRECTORY)
set(body "/* Made by analyzer/html/embed.cmake from analyzer/html/: edit those. */\n")
string(APPEND body "#include \"html_assets.h\"\n")
# Every byte as an escape, \xNN, which the next backslash always ends; 32
# bytes a line.
string(REPEAT "\\\\x.." 32 line)
foreach(pair "template;report.html;-" "css;report.css;</style" "js;report.js;</script")
  list(GET pair 0 name)
  list(GET pair 1 file)
  list(GET pair 2 forbidden)
  file(READ ${dir}/${file} text)
  string(TOLOWER "${text}" lower)
  string(FIND "${lower}" "${forbidden}" at)
  if(NOT forbidden STREQUAL "-" AND NOT at EQUAL -1)
    message(FATAL_ERROR "analyzer/html/${file} holds \"${forbidden}\", which would end its element early")
  endif()
  file(READ ${dir}/${file} hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "\\\\x\\1" bytes "${hex}")
  string(REGEX REPLACE "(${line})" "\\1\"\n\"" bytes "${bytes}")
  string(APPEND body "const char lt_html_${name}[] =\n\"${bytes}\";\n")
endforeach()
# Rewritten only when it changes, so that nothing is rebuilt for nothing.
file(WRITE ${OUT}.tmp "${body}")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUT}.tmp)
