from sportello_deploy.simulate.run import main

main()
