# Builds the web app (web/) with npm + Vite and compiles it into a static library.
#
# Configure mode:  include(cmake/EmbedWeb.cmake) and call cellblock_add_web_assets(): defines the STATIC
#   library `cellblock_web_assets` (src/app/assets.h) from a generated web_assets.cpp.
#   - `npm ci` runs only when web/node_modules is older than web/package-lock.json; then `npm run build`
#     writes the app to ${CMAKE_BINARY_DIR}/web-dist (never into the source tree).
#   - Re-run when anything under web/src or web/public, web/index.html, web/package.json,
#     web/package-lock.json, web/tsconfig.json or web/vite.config.* changes.
#   - CELLBLOCK_WEB_DIST=<dir> embeds an already built app instead (no npm needed).
#   - Without npm (and no CELLBLOCK_WEB_DIST) a placeholder page is embedded, with a warning.
#
# Script mode:  cmake -DCELLBLOCK_WEB_STEP=build -DWEB_DIR=… -DOUT_DIR=… -DNPM=… -P cmake/EmbedWeb.cmake
#               cmake -DCELLBLOCK_WEB_STEP=embed -DDIST_DIR=… -DOUTPUT=… [-DPLACEHOLDER=ON] -P cmake/EmbedWeb.cmake

if(CMAKE_SCRIPT_MODE_FILE)
  cmake_minimum_required(VERSION 3.21)
  # ---------------------------------------------------------------------------------------------------
  if(CELLBLOCK_WEB_STEP STREQUAL "build")
    set(ENV{npm_config_update_notifier} "false")
    set(ENV{npm_config_fund} "false")
    set(ENV{npm_config_audit} "false")
    # Two build trees may build at once: node_modules in web/ is shared.
    file(LOCK "${WEB_DIR}/.build.lock" GUARD PROCESS TIMEOUT 900 RESULT_VARIABLE lock_result)
    if(NOT lock_result EQUAL 0)
      message(FATAL_ERROR "EmbedWeb: cannot lock ${WEB_DIR}/.build.lock: ${lock_result}")
    endif()
    set(stamp "${WEB_DIR}/node_modules/.package-lock.json")
    if(NOT EXISTS "${stamp}" OR "${WEB_DIR}/package-lock.json" IS_NEWER_THAN "${stamp}")
      message(STATUS "EmbedWeb: npm ci in ${WEB_DIR}")
      execute_process(COMMAND "${NPM}" ci --no-audit --no-fund WORKING_DIRECTORY "${WEB_DIR}" RESULT_VARIABLE rc)
      if(NOT rc EQUAL 0)
        message(FATAL_ERROR "EmbedWeb: npm ci failed (${rc})")
      endif()
      file(TOUCH "${stamp}")
    endif()
    execute_process(COMMAND "${NPM}" run build -- --outDir "${OUT_DIR}" --emptyOutDir --logLevel warn
                    WORKING_DIRECTORY "${WEB_DIR}" RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "EmbedWeb: npm run build failed (${rc})")
    endif()
    if(NOT EXISTS "${OUT_DIR}/index.html")
      message(FATAL_ERROR "EmbedWeb: the build wrote no ${OUT_DIR}/index.html")
    endif()

  # ---------------------------------------------------------------------------------------------------
  elseif(CELLBLOCK_WEB_STEP STREQUAL "embed")
    function(_cellblock_content_type name out)
      string(TOLOWER "${name}" lower)
      get_filename_component(ext "${lower}" LAST_EXT)
      set(type "application/octet-stream")
      if(ext STREQUAL ".html" OR ext STREQUAL ".htm")
        set(type "text/html; charset=utf-8")
      elseif(ext STREQUAL ".js" OR ext STREQUAL ".mjs")
        set(type "text/javascript; charset=utf-8")
      elseif(ext STREQUAL ".css")
        set(type "text/css; charset=utf-8")
      elseif(ext STREQUAL ".json" OR ext STREQUAL ".map")
        set(type "application/json")
      elseif(ext STREQUAL ".svg")
        set(type "image/svg+xml")
      elseif(ext STREQUAL ".png")
        set(type "image/png")
      elseif(ext STREQUAL ".jpg" OR ext STREQUAL ".jpeg")
        set(type "image/jpeg")
      elseif(ext STREQUAL ".gif")
        set(type "image/gif")
      elseif(ext STREQUAL ".webp")
        set(type "image/webp")
      elseif(ext STREQUAL ".ico")
        set(type "image/x-icon")
      elseif(ext STREQUAL ".woff2")
        set(type "font/woff2")
      elseif(ext STREQUAL ".woff")
        set(type "font/woff")
      elseif(ext STREQUAL ".txt")
        set(type "text/plain; charset=utf-8")
      elseif(ext STREQUAL ".wasm")
        set(type "application/wasm")
      elseif(ext STREQUAL ".webmanifest")
        set(type "application/manifest+json")
      endif()
      set(${out} "${type}" PARENT_SCOPE)
    endfunction()

    # "\x3c\x21…" string literal pieces, 64 bytes per line: every byte is escaped, so no escape can run
    # into the next character, and NUL or any other byte is kept.
    string(REPEAT "[0-9a-f]" 128 line_pattern)
    function(_cellblock_literal hex out)
      string(REGEX REPLACE "(${line_pattern})" "\\1\n" hex "${hex}")
      string(REGEX REPLACE "([0-9a-f][0-9a-f])" "\\\\x\\1" escaped "${hex}")
      string(REGEX REPLACE "\n$" "" escaped "${escaped}")
      string(REPLACE "\n" "\"\n    \"" escaped "${escaped}")
      set(${out} "    \"${escaped}\"" PARENT_SCOPE)
    endfunction()

    set(names "")
    if(PLACEHOLDER)
      set(placeholder_html "<!doctype html><meta charset=\"utf-8\"><title>cellblock</title><h1>cellblock</h1><p>This binary was built without the web app (npm was not found). Install Node.js 20.19+ and rebuild, or configure with -DCELLBLOCK_WEB_DIST=&lt;built app&gt;.</p>\n")
      string(HEX "${placeholder_html}" placeholder_hex)
      list(APPEND names "index.html")
    else()
      if(NOT EXISTS "${DIST_DIR}/index.html")
        message(FATAL_ERROR "EmbedWeb: ${DIST_DIR}/index.html is missing")
      endif()
      file(GLOB_RECURSE names LIST_DIRECTORIES false RELATIVE "${DIST_DIR}" "${DIST_DIR}/*")
      list(SORT names)
    endif()

    set(data "")
    set(table "")
    set(index 0)
    foreach(name IN LISTS names)
      if(PLACEHOLDER)
        set(hex "${placeholder_hex}")
        string(SHA256 sha "${placeholder_html}")
      else()
        file(READ "${DIST_DIR}/${name}" hex HEX)
        file(SHA256 "${DIST_DIR}/${name}" sha)
      endif()
      string(TOLOWER "${hex}" hex)
      string(LENGTH "${hex}" hex_length)
      math(EXPR size "${hex_length} / 2")
      _cellblock_literal("${hex}" literal)
      _cellblock_content_type("${name}" type)
      string(SUBSTRING "${sha}" 0 20 etag)
      set(immutable false)
      if(name MATCHES "^assets/")
        set(immutable true)
      endif()
      string(REPLACE "\\" "\\\\" path_literal "/${name}")
      string(REPLACE "\"" "\\\"" path_literal "${path_literal}")
      string(APPEND data "// /${name} (${size} bytes)\nconstexpr char kData${index}[] =\n${literal};\n\n")
      string(APPEND table "    {\"${path_literal}\", \"${type}\", std::string_view(kData${index}, ${size}), \"\\\"${etag}\\\"\", ${immutable}},\n")
      math(EXPR index "${index} + 1")
    endforeach()

    set(source "// Generated by cmake/EmbedWeb.cmake from the built web app. Do not edit.
#include \"app/assets.h\"

#include <array>

#if defined(__GNUC__)
#pragma GCC diagnostic ignored \"-Woverlength-strings\"
#endif

namespace cellblock::app {
namespace {

${data}constexpr std::array<Asset, ${index}> kAssets{{
${table}}};

}  // namespace

const Asset* find_asset(std::string_view path) {
  if (path.empty() || path == \"/\") path = \"/index.html\";
  for (const Asset& asset : kAssets) {
    if (asset.path == path) return &asset;
  }
  return nullptr;
}

}  // namespace cellblock::app
")
    file(WRITE "${OUTPUT}" "${source}")
  else()
    message(FATAL_ERROR "EmbedWeb: set -DCELLBLOCK_WEB_STEP=build or embed")
  endif()
  return()
endif()

# -----------------------------------------------------------------------------------------------------
# Configure mode.

set(CELLBLOCK_EMBED_WEB_SCRIPT "${CMAKE_CURRENT_LIST_FILE}")
get_filename_component(CELLBLOCK_EMBED_WEB_ROOT "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
set(CELLBLOCK_WEB_DIST "" CACHE PATH "An already built web app to embed instead of building web/ with npm")

function(cellblock_add_web_assets)
  set(web_dir "${CELLBLOCK_EMBED_WEB_ROOT}/web")
  set(dist_dir "${CMAKE_BINARY_DIR}/web-dist")
  set(generated "${CMAKE_BINARY_DIR}/generated/web/web_assets.cpp")

  if(CELLBLOCK_WEB_DIST)
    file(GLOB_RECURSE inputs CONFIGURE_DEPENDS "${CELLBLOCK_WEB_DIST}/*")
    add_custom_command(
      OUTPUT "${generated}"
      COMMAND "${CMAKE_COMMAND}" -DCELLBLOCK_WEB_STEP=embed "-DDIST_DIR=${CELLBLOCK_WEB_DIST}" "-DOUTPUT=${generated}"
              -P "${CELLBLOCK_EMBED_WEB_SCRIPT}"
      DEPENDS ${inputs} "${CELLBLOCK_EMBED_WEB_SCRIPT}"
      COMMENT "Embedding the web app from ${CELLBLOCK_WEB_DIST}"
      VERBATIM)
  else()
    find_program(CELLBLOCK_NPM npm)
    if(CELLBLOCK_NPM)
      file(GLOB_RECURSE inputs CONFIGURE_DEPENDS "${web_dir}/src/*" "${web_dir}/public/*" "${web_dir}/vite.config.*")
      list(APPEND inputs "${web_dir}/index.html" "${web_dir}/package.json" "${web_dir}/package-lock.json"
           "${web_dir}/tsconfig.json")
      add_custom_command(
        OUTPUT "${generated}"
        COMMAND "${CMAKE_COMMAND}" -DCELLBLOCK_WEB_STEP=build "-DWEB_DIR=${web_dir}" "-DOUT_DIR=${dist_dir}"
                "-DNPM=${CELLBLOCK_NPM}" -P "${CELLBLOCK_EMBED_WEB_SCRIPT}"
        COMMAND "${CMAKE_COMMAND}" -DCELLBLOCK_WEB_STEP=embed "-DDIST_DIR=${dist_dir}" "-DOUTPUT=${generated}"
                -P "${CELLBLOCK_EMBED_WEB_SCRIPT}"
        DEPENDS ${inputs} "${CELLBLOCK_EMBED_WEB_SCRIPT}"
        COMMENT "Building the web app (npm run build) and embedding it"
        USES_TERMINAL
        VERBATIM)
    else()
      message(WARNING "npm not found: cellblock will serve a placeholder page instead of the web app "
                      "(install Node.js 20.19+, or set CELLBLOCK_WEB_DIST to a built app)")
      add_custom_command(
        OUTPUT "${generated}"
        COMMAND "${CMAKE_COMMAND}" -DCELLBLOCK_WEB_STEP=embed -DPLACEHOLDER=ON "-DOUTPUT=${generated}"
                -P "${CELLBLOCK_EMBED_WEB_SCRIPT}"
        DEPENDS "${CELLBLOCK_EMBED_WEB_SCRIPT}"
        COMMENT "Embedding a placeholder web page"
        VERBATIM)
    endif()
  endif()

  add_library(cellblock_web_assets STATIC "${generated}" "${CELLBLOCK_EMBED_WEB_ROOT}/src/app/assets.h")
  target_include_directories(cellblock_web_assets PUBLIC "${CELLBLOCK_EMBED_WEB_ROOT}/src")
  target_compile_features(cellblock_web_assets PUBLIC cxx_std_20)
endfunction()
