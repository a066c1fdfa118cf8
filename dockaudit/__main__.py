from dockaudit.cli import main

main()
