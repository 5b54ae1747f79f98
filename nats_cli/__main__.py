from nats_cli.app import main

main()
