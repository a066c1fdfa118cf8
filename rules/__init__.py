"""dockaudit's built-in rule pack, loaded through the same interface as third-party packs.

One module per id decade (``da10a_root_and_secrets`` holds DA101–DA105), rules in id order inside
each; a decade whose rules and docs would pass ~600 lines is split in two (``a``, ``b``).  ``RULES``
lists them all in id order.  Rules reach the knowledge tables, files, tools and the registry only
through their context (``ctx.knowledge``, ``ctx.resources``); views several modules share live in
``dockaudit.facts``.
"""

from dockaudit_rules import (  # noqa: F401 - every module of the pack, in id order (RULES reads them below)
    da00_buildkit_syntax,
    da01a_variables_and_arguments,
    da01b_onbuild_platform_labels_shell,
    da02_stage_habits_and_suppressions,
    da10a_root_and_secrets,
    da10b_remote_files_and_exposure,
    da11_trusted_sources,
    da20_unpinned_bases_and_packages,
    da21_unpinned_sources_and_upgrades,
    da30a_layer_order,
    da30b_layer_contents_and_cache,
    da40a_apt_pip_apk_caches,
    da40b_other_caches_and_build_leftovers,
    da41_install_and_download_habits,
    da50a_framework_builds_and_base,
    da50b_companions_and_extensions,
    da51a_cuda_versions_and_drivers,
    da51b_cuda_stacks_and_indexes,
    da52a_gpu_build_steps,
    da52b_gpu_packages_and_channels,
    da53a_ml_package_names_and_specifiers,
    da53b_ml_run_time_needs_and_duplicates,
    da54_gpu_fleet,
    da60_base_images,
    da70_shell_in_run,
    da80_image_contents,
    da81_image_weights_and_exposure,
    da90_compose_services,
    da91_compose_exposure,
)

from dockaudit.plugin import rules_in

RULES = sorted(
    (r for name, module in sorted(globals().items()) if name.startswith("da") for r in rules_in(module)),
    key=lambda r: r.id,
)
