from dockaudit.entry import main

main()
