from medtutor.cli import main

main()
